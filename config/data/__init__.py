"""Data kept in the repository: published lists the program projects from (each file names its source)."""
