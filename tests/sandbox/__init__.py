"""Tests of the GitHub double (bot.sandbox), driven through gidgethub over loopback HTTP."""
