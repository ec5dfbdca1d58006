import time

from hangs import wait


def test_hangs():
    wait()
    while True:
        time.sleep(1)
