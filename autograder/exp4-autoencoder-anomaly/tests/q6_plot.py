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
                                       'locked': False},
                                   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     fig = checks.get(ns, 'fig')\n"
                                               "...     assert hasattr(fig, 'get_axes'), '`fig` should be a matplotlib figure'\n"
                                               '...     return checks.describe_figure(fig)\n'
                                               '>>> def judge(data):\n'
                                               "...     assert any((ax['patches'] > 0 for ax in data['axes'])), 'draw a histogram of the errors'\n"
                                               "...     ax = next((ax for ax in data['axes'] if ax['patches'] > 0))\n"
                                               "...     assert ax['vlines'] >= 1, 'mark the threshold with a vertical line'\n"
                                               "...     assert ax['xlabel'] and ax['ylabel'], 'label both axes'\n"
                                               "...     assert len(ax['legend']) >= 2, 'add a legend'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 1}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
