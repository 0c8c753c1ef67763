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
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
