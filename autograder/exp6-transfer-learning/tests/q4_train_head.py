OK_FORMAT = True

test = {   'name': 'q4_train_head',
    'points': 3,
    'suites': [   {   'cases': [   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     history = checks.get(ns, 'history_head', dict)\n"
                                               "...     return {'loss': [float(v) for v in history.get('loss', [])], 'val_accuracy': [float(v) for v in history.get('val_accuracy', [])]}\n"
                                               '>>> def judge(data):\n'
                                               '...     assert data[\'loss\'] and data[\'val_accuracy\'], "record each epoch\'s loss and val_accuracy in history_head"\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     history = checks.get(ns, 'history_head', dict)\n"
                                               "...     return {'loss': [float(v) for v in history.get('loss', [])], 'val_accuracy': [float(v) for v in history.get('val_accuracy', [])]}\n"
                                               '>>> def judge(data):\n'
                                               "...     loss = data['loss']\n"
                                               "...     assert len(loss) >= 2 and len(data['val_accuracy']) == len(loss), f'history_head records {len(loss)} epoch(s); train the head for at least 2 "
                                               "and record the validation accuracy of each'\n"
                                               "...     assert loss[-1] < loss[0], 'the training loss did not decrease'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 2}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
