import re
from collections import Counter


def count_words(text):
    return dict(
        Counter(w.strip("'") for w in re.findall(r"[a-z0-9']+", text.lower()) if w.strip("'"))
    )
