def wait():
    return None
