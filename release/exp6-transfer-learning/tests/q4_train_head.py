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
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
