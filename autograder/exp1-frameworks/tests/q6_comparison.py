OK_FORMAT = True

test = {   'name': 'q6_comparison',
    'points': 4,
    'suites': [   {   'cases': [   {   'code': '>>> import linecache\n'
                                               '>>> import keras\n'
                                               '>>> import pandas as pd\n'
                                               '>>> from torch import nn\n'
                                               '>>> import dlkit.checks as checks\n'
                                               ">>> COLUMNS = ['framework', 'lines_of_code', 'parameters', 'seconds_per_epoch', 'test_accuracy']\n"
                                               ">>> FRAMEWORKS = ['TensorFlow', 'Keras', 'PyTorch', 'PyTensor']\n"
                                               '>>> def _table(ns):\n'
                                               "...     table = checks.get(ns, 'comparison', pd.DataFrame)\n"
                                               "...     assert list(table.columns) == COLUMNS, f'comparison has the columns {list(table.columns)}; expected {COLUMNS}'\n"
                                               '...     assert list(table[\'framework\']) == FRAMEWORKS, f"comparison has the rows {list(table[\'framework\'])}; expected {FRAMEWORKS}"\n'
                                               "...     return {'rows': [[row[c].item() if hasattr(row[c], 'item') else row[c] for c in COLUMNS] for _, row in table.iterrows()], 'dtypes': "
                                               '[str(table[c].dtype) for c in COLUMNS]}\n'
                                               '>>> def extract(ns):\n'
                                               '...     data = _table(ns)\n'
                                               '...     return data\n'
                                               '>>> def judge(data):\n'
                                               "...     assert len(data['rows']) == 4, 'comparison needs one row per framework'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import numpy as np\n'
                                               '>>> from dlkit.experiments import threshold\n'
                                               '>>> import linecache\n'
                                               '>>> import keras\n'
                                               '>>> import pandas as pd\n'
                                               '>>> from torch import nn\n'
                                               '>>> import dlkit.checks as checks\n'
                                               ">>> COLUMNS = ['framework', 'lines_of_code', 'parameters', 'seconds_per_epoch', 'test_accuracy']\n"
                                               ">>> FRAMEWORKS = ['TensorFlow', 'Keras', 'PyTorch', 'PyTensor']\n"
                                               '>>> def _table(ns):\n'
                                               "...     table = checks.get(ns, 'comparison', pd.DataFrame)\n"
                                               "...     assert list(table.columns) == COLUMNS, f'comparison has the columns {list(table.columns)}; expected {COLUMNS}'\n"
                                               '...     assert list(table[\'framework\']) == FRAMEWORKS, f"comparison has the rows {list(table[\'framework\'])}; expected {FRAMEWORKS}"\n'
                                               "...     return {'rows': [[row[c].item() if hasattr(row[c], 'item') else row[c] for c in COLUMNS] for _, row in table.iterrows()], 'dtypes': "
                                               '[str(table[c].dtype) for c in COLUMNS]}\n'
                                               ">>> TRAINED_BY = {'TensorFlow': 'train_tensorflow', 'Keras': 'train_keras', 'PyTorch': 'train_pytorch', 'PyTensor': 'train_pytensor'}\n"
                                               ">>> MODELS = {'TensorFlow': 'tf_params', 'PyTorch': 'torch_model', 'PyTensor': 'pt_params'}\n"
                                               ">>> SECONDS = {'TensorFlow': 'tf_seconds', 'Keras': 'keras_seconds', 'PyTorch': 'torch_seconds', 'PyTensor': 'pt_seconds'}\n"
                                               '>>> def extract(ns):\n'
                                               '...     data = _table(ns)\n'
                                               "...     data['cells'] = [''.join(linecache.getlines(checks.get(ns, TRAINED_BY[f]).__code__.co_filename)) for f in FRAMEWORKS]\n"
                                               "...     data['seconds'] = [[float(s) for s in checks.get(ns, SECONDS[f], list)] for f in FRAMEWORKS]\n"
                                               '...     for framework, name in MODELS.items():\n'
                                               '...         data.update(checks.export_layers(checks.dense_layers(checks.get(ns, name)), framework.lower()))\n'
                                               "...     data['keras_model'] = checks.get(ns, 'keras_model', keras.Model)\n"
                                               '...     return data\n'
                                               '>>> def judge(data):\n'
                                               "...     assert len(data['rows']) == 4, 'comparison needs one row per framework'\n"
                                               "...     tolerance = threshold('exp1-frameworks', 'table_accuracy_tolerance')\n"
                                               "...     kinds = [('i', 'u'), ('i', 'u'), ('f',), ('f',)]\n"
                                               "...     for column, dtype, kind in zip(COLUMNS[1:], data['dtypes'][1:], kinds):\n"
                                               '...         assert np.dtype(dtype).kind in kind, f"column {column} has type {dtype}; expected {(\'int\' if \'i\' in kind else \'float\')}"\n'
                                               '...     measured = {}\n'
                                               "...     for (framework, loc, params, seconds, accuracy), cell, times in zip(data['rows'], data['cells'], data['seconds']):\n"
                                               "...         lines = sum((1 for line in cell.splitlines() if line.strip() and (not line.strip().startswith('#'))))\n"
                                               "...         assert lines > 0, f'{framework}: the grader cannot read the cell that defines its training function'\n"
                                               "...         assert loc == lines, f'{framework}: lines_of_code is {loc}, but its cell has {lines} lines of code (not blank, not only a comment)'\n"
                                               "...         if framework == 'Keras':\n"
                                               "...             model = data['keras_model']\n"
                                               '...             count, grader = (model.count_params(), checks.mnist_accuracy(model))\n'
                                               '...         else:\n'
                                               '...             layers = checks.layers_from(data, framework.lower())\n'
                                               '...             count, grader = (checks.count_parameters(layers), checks.mlp_accuracy(layers))\n'
                                               "...         assert params == count, f'{framework}: parameters is {params}, but its model has {count}'\n"
                                               "...         assert abs(seconds - float(np.mean(times))) <= 1e-06 * max(1.0, seconds), f'{framework}: seconds_per_epoch is {seconds}, but its epochs "
                                               "took {times} (mean {np.mean(times):.4f})'\n"
                                               "...         assert abs(accuracy - grader) <= tolerance, f'{framework}: test_accuracy is {accuracy:.4f}, but the grader measures {grader:.4f} for its "
                                               "model'\n"
                                               "...         measured[f'{framework} lines of code'] = lines\n"
                                               '...     return measured\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 3}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
