from names import title_case


def greet(name):
    return f"Hello, {title_case(name)}!"
