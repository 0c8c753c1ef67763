OK_FORMAT = True

test = {   'name': 'q6_plot',
    'points': 2,
    'suites': [   {   'cases': [   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     fig = checks.get(ns, 'fig')\n"
                                               "...     assert hasattr(fig, 'get_axes'), '`fig` should be a matplotlib figure'\n"
                                               '...     return checks.describe_figure(fig)\n'
                                               '>>> def judge(data):\n'
                                               '...     assert len(data[\'axes\']) >= 2, f"the figure has {len(data[\'axes\'])} panel(s); draw loss and accuracy side by side"\n'
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     fig = checks.get(ns, 'fig')\n"
                                               "...     assert hasattr(fig, 'get_axes'), '`fig` should be a matplotlib figure'\n"
                                               '...     return checks.describe_figure(fig)\n'
                                               '>>> def judge(data):\n'
                                               '...     assert len(data[\'axes\']) >= 2, f"the figure has {len(data[\'axes\'])} panel(s); draw loss and accuracy side by side"\n'
                                               "...     panels = data['axes'][:2]\n"
                                               '...     for panel in panels:\n'
                                               "...         assert panel['xlabel'] and panel['ylabel'], 'label both axes of every panel'\n"
                                               "...         assert panel['lines'] >= 2, 'draw the training and the validation curve in each panel'\n"
                                               "...         assert len(panel['legend']) >= 2, 'add a legend naming the training and validation curves'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 1}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
