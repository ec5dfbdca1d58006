def clean(name):
    return " ".join(name.split())
