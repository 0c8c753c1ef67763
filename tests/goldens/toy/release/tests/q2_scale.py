OK_FORMAT = True

test = {'name': 'q2_scale', 'points': 2, 'suites': [{'cases': [], 'scored': True, 'setup': '', 'teardown': '', 'type': 'doctest'}]}
