"""The small fitted and trained models the package ships (data files; see LICENSE-MODELS.md)."""
