OK_FORMAT = True

test = {   'name': 'q3_compile',
    'points': 2,
    'suites': [   {   'cases': [   {   'code': '>>> import keras\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {'model': checks.get(ns, 'model', keras.Model)}\n"
                                               '>>> def judge(data):\n'
                                               "...     assert data['model'].optimizer is not None, 'compile the model before training it'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
