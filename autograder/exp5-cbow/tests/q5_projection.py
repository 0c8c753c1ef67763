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
                                       'locked': False},
                                   {   'code': '>>> import dlkit.checks as checks\n'
                                               '>>> def extract(ns):\n'
                                               "...     fig = checks.get(ns, 'fig')\n"
                                               "...     assert hasattr(fig, 'get_axes'), '`fig` should be a matplotlib figure'\n"
                                               "...     axes = [{'points': sum((len(c.get_offsets()) for c in ax.collections)), 'labels': len(ax.texts), 'xlabel': ax.get_xlabel(), 'ylabel': "
                                               "ax.get_ylabel(), 'title': ax.get_title()} for ax in fig.get_axes()]\n"
                                               "...     return {'axes': axes, 'probes': len(checks.get(ns, 'PROBES')), 'points': [sum((len(c.get_offsets()) for c in ax.collections)) for ax in "
                                               'fig.get_axes()]}\n'
                                               '>>> def judge(data):\n'
                                               "...     assert any((n > 0 for n in data['points'])), 'draw the projected words as a scatter plot'\n"
                                               "...     ax = max(data['axes'], key=lambda a: a['points'])\n"
                                               "...     least = data['probes'] * 6\n"
                                               '...     assert ax[\'points\'] >= least, f"the scatter plot shows {ax[\'points\']} points; show every probe word and its 5 neighbours ({least})"\n'
                                               '...     assert ax[\'labels\'] >= least, f"label every point with its word ({ax[\'labels\']} labels for {least} points)"\n'
                                               "...     assert ax['xlabel'] and ax['ylabel'] and ax['title'], 'label both axes and give the plot a title'\n"
                                               '>>> checks.run(extract, judge, globals())\n',
                                       'hidden': True,
                                       'locked': False,
                                       'points': 1}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
