import math


def _round2(value):
    return round(value, 2)


def circle_area(r):
    return _round2(math.pi * r * r)


def square_area(side):
    return _round2(side * side)


def triangle_area(base, height):
    return _round2(base * height / 2)
