"""The built-in presets (YAML data), shipped inside the package as `bot.presets`."""
