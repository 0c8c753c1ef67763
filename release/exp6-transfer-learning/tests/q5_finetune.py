OK_FORMAT = True

test = {   'name': 'q5_finetune',
    'points': 5,
    'suites': [   {   'cases': [   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     optimizer = checks.get(ns, 'finetune_optimizer')\n"
                                               "...     return {'lrs': [float(group['lr']) for group in optimizer.param_groups]}\n"
                                               '>>> def judge(data):\n'
                                               '...     assert len(data[\'lrs\']) >= 2, f"finetune_optimizer has {len(data[\'lrs\'])} parameter group(s); give the backbone and the head a group '
                                               'each"\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
