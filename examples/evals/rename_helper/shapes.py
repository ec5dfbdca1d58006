import math


def circle_area(r):
    return float(f"{math.pi * r * r:.2f}")


def square_area(side):
    return float(f"{side * side:.2f}")


def triangle_area(base, height):
    return float(f"{base * height / 2:.2f}")
