#!/usr/bin/perl
# The Sisimai side of bench/bounce-mailbox.bench.ts: every message of a folder (Sisimai reads a
# folder as a Maildir, one message per file) parsed with Sisimai->make, each result printed as
# one JSON line, as `mxdoctor bounce DIR --json --no-followup` prints one per message.
# Prints the number of results on standard error. Needs Sisimai (Debian: libsisimai-perl).
use strict;
use warnings;
use Sisimai;

my $dir = shift or die "usage: sisimai-make.pl FOLDER\n";
my $results = Sisimai->make($dir, 'delivered' => 1) || [];
binmode STDOUT, ':raw';
print $_->dump('json'), "\n" for @$results;
print STDERR scalar(@$results), "\n";
