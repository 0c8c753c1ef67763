"""The verified stack: TensorFlow then torchvision in one process and one Jupyter kernel.

With ``triton`` installed this order dies with SIGSEGV (shared/DATA.md); ``make setup`` removes it.
"""

from __future__ import annotations

import subprocess
import sys

import nbformat
from nbclient import NotebookClient

IMPORTS = "import tensorflow as tf\nimport torchvision\nimport torch\nprint(tf.__version__, torch.__version__)"


def test_tensorflow_then_torchvision_in_one_process():
    result = subprocess.run([sys.executable, "-c", IMPORTS], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[0].startswith("2.21")


def test_tensorflow_then_torchvision_in_a_kernel():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(IMPORTS)])
    NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
    outputs = notebook.cells[0].outputs
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "2.21" in text
