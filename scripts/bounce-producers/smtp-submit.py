#!/usr/bin/env python3
"""Submit the test message to an MTA by SMTP: smtp-submit.py HOST PORT CASE MTA RCPT... [--big]"""
import smtplib, subprocess, sys, os
host, port, case, mta, *rest = sys.argv[1:]
rcpts = [r for r in rest if r != '--big']
msg = subprocess.run(['sh', os.path.join(os.path.dirname(__file__), 'message.sh'), case, mta, *rest],
                     capture_output=True, check=True).stdout.replace(b'\n', b'\r\n')
s = smtplib.SMTP(host, int(port), local_hostname='submitter.sender.test', timeout=30)
s.ehlo()
refused = s.sendmail('alice@sender.test', rcpts, msg)
print('submitted', case, refused or '')
s.quit()
