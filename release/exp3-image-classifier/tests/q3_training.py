OK_FORMAT = True

test = {   'name': 'q3_training',
    'points': 3,
    'suites': [   {   'cases': [   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     history = checks.get(ns, 'history')\n"
                                               "...     assert hasattr(history, 'history'), '`history` should be what model.fit returns'\n"
                                               "...     return {'history': {k: [float(v) for v in vs] for k, vs in history.history.items()}}\n"
                                               '>>> def judge(data):\n'
                                               "...     assert 'val_loss' in data['history'], 'validate on `val` (validation_data=...) so that val_loss is recorded'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
