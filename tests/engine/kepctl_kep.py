"""The dry-run KEP of the kepctl demo, as the engine tests write it."""

KEPCTL_FOLDER = "content/sig-api-machinery/sig-wide/dry-run"
KEPCTL_METADATA = """\
authors:
  - "@jbeda"
title: Dry Run
kep_number: 2
reviewers: []
approvers:
  - "@lavalamp"
state: implementable
superseded_by: []
last_updated: 2018-12-11T20:05:00.000000Z
created: 2018-12-09T01:37:52.328024Z
uuid: 3d8f0a6e-2b1c-4f57-9e0d-6a4b2c8e1f93
sections:
  - summary.md
  - motivation.md
  - README.md
  - guides/developer.md
  - guides/operator.md
  - guides/teacher.md
  - graduation_criteria.md
owning_sig: sig-api-machinery
sig_wide: true
"""
KEPCTL_SECTIONS = (
    "summary.md",
    "motivation.md",
    "README.md",
    "guides/developer.md",
    "guides/operator.md",
    "guides/teacher.md",
    "graduation_criteria.md",
)


def kepctl_files() -> dict[str, str]:
    """The dry-run KEP of the kepctl demo, implementable, every section written."""
    files = {f"{KEPCTL_FOLDER}/metadata.yaml": KEPCTL_METADATA}
    for name in KEPCTL_SECTIONS:
        files[f"{KEPCTL_FOLDER}/{name}"] = f"# {name}\n\nWritten.\n"
    for folder in ("guides", "assets", "experience_reports"):
        files[f"{KEPCTL_FOLDER}/{folder}/.gitkeep"] = ""
    return files
