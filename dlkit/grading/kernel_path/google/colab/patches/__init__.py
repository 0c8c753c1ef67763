"""``google.colab.patches`` in the grader: ``cv2_imshow`` shows the image as a notebook output."""

from __future__ import annotations


def cv2_imshow(image) -> None:
    """Display a BGR(A) or grey OpenCV image as a PNG output, as Colab's ``cv2_imshow`` does."""
    import cv2
    import numpy as np
    from IPython.display import Image, display

    array = np.asarray(image)
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    ok, png = cv2.imencode(".png", array)
    if ok:
        display(Image(data=png.tobytes()))
