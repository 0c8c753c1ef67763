OK_FORMAT = True

test = {   'name': 'q4_metrics',
    'points': 3,
    'suites': [   {   'cases': [   {   'code': '>>> import numpy as np\n'
                                               '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     report = checks.get(ns, 'report', dict)\n"
                                               "...     missing = [k for k in ('y_pred', 'accuracy', 'precision', 'recall', 'f1', 'confusion') if k not in report]\n"
                                               "...     assert not missing, f'`report` lacks {missing}'\n"
                                               "...     return {'metrics': [float(report[k]) for k in ('accuracy', 'precision', 'recall', 'f1')], 'confusion': np.asarray(report['confusion']), "
                                               "'tested': len(checks.get(ns, 'y_test'))}\n"
                                               '>>> def judge(data):\n'
                                               '...     assert all((0.0 <= m <= 1.0 for m in data[\'metrics\'])), f"accuracy, precision, recall and F1 lie in [0, 1], got {data[\'metrics\']}"\n'
                                               "...     confusion = data['confusion']\n"
                                               "...     assert confusion.ndim == 2 and confusion.shape[0] == confusion.shape[1], f'the confusion matrix should be square, has shape "
                                               "{confusion.shape}'\n"
                                               '...     assert int(confusion.sum()) == data[\'tested\'], f"the confusion matrix counts {int(confusion.sum())} images; it should count every test image '
                                               '({data[\'tested\']})"\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
