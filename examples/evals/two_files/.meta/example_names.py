def clean(name):
    return " ".join(name.split())


def title_case(name):
    return " ".join(word.capitalize() for word in clean(name).split())
