from shapes import _round2, circle_area, square_area, triangle_area


def test_circle():
    assert circle_area(1) == 3.14


def test_square():
    assert square_area(1.5) == 2.25


def test_triangle():
    assert triangle_area(3, 3) == 4.5


def test_helper():
    assert _round2(2.3456) == 2.35
