# tests/eval/sanity holds eval tasks, not tests of this project: their
# *_test.py files (one broken, one hanging on purpose) run only inside eval.
collect_ignore = ["sanity"]
