def last_n(items, n):
    return items[len(items) - n :] if n > 0 else []
