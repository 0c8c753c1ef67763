OK_FORMAT = True

test = {   'name': 'q5_projection',
    'points': 2,
    'suites': [   {   'cases': [   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     fig = checks.get(ns, 'fig')\n"
                                               "...     assert hasattr(fig, 'get_axes'), '`fig` should be a matplotlib figure'\n"
                                               "...     return {'points': [sum((len(c.get_offsets()) for c in ax.collections)) for ax in fig.get_axes()]}\n"
                                               '>>> def judge(data):\n'
                                               "...     assert any((n > 0 for n in data['points'])), 'draw the projected words as a scatter plot'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
