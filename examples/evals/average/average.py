def average(numbers):
    total = 0
    for n in numbers[1:]:
        total += n
    return total / len(numbers)
