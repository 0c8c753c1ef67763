"""A stand-in for Google Colab's ``google.colab`` inside the dlkit grader (not Colab itself).

Notebooks written in Colab import ``drive``, ``files`` and ``patches``; in the grader these do
nothing harmful and say what happens instead: the course's dataset map (``datasets.yml``) puts
the dataset files at the paths the notebook reads, read-only.
"""

from . import drive, files, output, patches

__all__ = ["drive", "files", "output", "patches"]
