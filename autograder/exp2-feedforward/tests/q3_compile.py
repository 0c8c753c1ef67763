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
                                       'locked': False},
                                   {   'code': '>>> import keras\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     return {'model': checks.get(ns, 'model', keras.Model)}\n"
                                               '>>> def judge(data):\n'
                                               "...     assert data['model'].optimizer is not None, 'compile the model before training it'\n"
                                               "...     config = data['model'].get_compile_config() or {}\n"
                                               "...     optimizer = (config.get('optimizer') or {}).get('class_name')\n"
                                               "...     assert optimizer == 'SGD', f'the lab asks for stochastic gradient descent (SGD), found {optimizer}'\n"
                                               "...     loss = config.get('loss')\n"
                                               "...     name = loss if isinstance(loss, str) else (loss or {}).get('class_name', '') if isinstance(loss, dict) else str(loss)\n"
                                               "...     assert 'crossentropy' in name.replace('_', '').lower(), f'use a cross-entropy loss, found {loss}'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 1.5}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
