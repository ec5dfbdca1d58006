"""`assistant rename`: renaming a symbol across a repository by scope rules, no model."""
