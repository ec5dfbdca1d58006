"""`python -m assistant`: the same as the `assistant` console script (the git
hook falls back to it when the script is not on disk)."""

from assistant.cli import main

if __name__ == "__main__":
    main()
