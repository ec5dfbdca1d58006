def last_n(items, n):
    return items[len(items) - n + 1 :]
