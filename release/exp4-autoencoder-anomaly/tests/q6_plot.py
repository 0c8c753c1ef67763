OK_FORMAT = True

test = {   'name': 'q6_plot',
    'points': 2,
    'suites': [   {   'cases': [   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     fig = checks.get(ns, 'fig')\n"
                                               "...     assert hasattr(fig, 'get_axes'), '`fig` should be a matplotlib figure'\n"
                                               '...     return checks.describe_figure(fig)\n'
                                               '>>> def judge(data):\n'
                                               "...     assert any((ax['patches'] > 0 for ax in data['axes'])), 'draw a histogram of the errors'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
