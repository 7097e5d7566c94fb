#!/usr/bin/perl
# Every file (*.conf) in conf-examples/ passes nginx -t: each is an http-level
# snippet, included inside http {} after conf-examples/log-format.conf.
#
# The files are tested as written except for what would touch the machine:
# absolute file system paths are moved under the test directory and listen
# addresses become free 127.0.0.1 ports (nginx -t opens log files, creates
# cache directories and binds the listening sockets). Key files (*.key, as
# `openssl rand -hex 16` makes them) are made there, readable by the owner
# only, as the examples tell.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Basename qw(basename dirname);
use File::Path qw(make_path);
use Test::More;
use ABNginx;

my $t = ABNginx->new->require_module->expect_emerg;
my $examples = "$ABNginx::REPO/conf-examples";
my @files = sort glob("$examples/*.conf");
ok(@files > 0, 'conf-examples/ has files');
ok(-f "$examples/log-format.conf", 'conf-examples/log-format.conf exists');

my $sandbox = $t->dir . '/sandbox';

# Rewrites a copy of a file; returns the text.
sub sandboxed {
    my ($text) = @_;
    # listen [addr:]port [params] -> listen 127.0.0.1:<free port> [params]
    $text =~ s{(^\s*listen\s+)(?:[^\s;]+)}{$1 . '127.0.0.1:' . ABNginx::_free_port()}gme;
    # absolute paths outside the repository -> under the sandbox
    $text =~ s{(?<=[\s"'])(/(?:var|run|srv|tmp|etc|opt|usr|home|data)/[^\s;"']*)}{
        my $p = "$sandbox$1";
        make_path(dirname($p));
        if ($p =~ /\.key$/) {
            $t->write_file($p, join('', map { sprintf '%02x', int rand 256 } 1 .. 16)
                . "\n");
            chmod 0600, $p;
        }
        $p;
    }ge;
    return $text;
}

make_path("$t->{dir}/conf");
my $logfmt = $t->write_file('conf/log-format.conf',
    sandboxed($t->read_file("$examples/log-format.conf") // ''));

for my $file (@files) {
    my $name = basename($file);
    my $text = $t->read_file($file);
    my $copy = $t->write_file("conf/$name", sandboxed($text));
    my $http = $name eq 'log-format.conf' ? "include $logfmt;\n"
        : "include $logfmt;\ninclude $copy;\n";
    $t->write_config($http, access_log => 0);
    my ($out, $rc) = $t->test_config;
    is($rc, 0, "conf-examples/$name passes nginx -t") or diag($out);
    unlike($out, qr/\[(?:emerg|alert|crit|error|warn)\]/,
        "conf-examples/$name: no warnings") or diag($out);
}

# log-format.conf defines ab_json with the fields of docs/log-format.md
my $lf = $t->read_file("$examples/log-format.conf") // '';
like($lf, qr/log_format\s+ab_json\s+escape=json/, 'log_format ab_json escape=json');
for my $k (@ABNginx::LOG_KEYS) {
    (my $var = {time => 'msec', uid => 'ab_uid', uid_new => 'ab_uid_new',
        exposures => 'ab_exposures', status => 'status',
        request_time => 'request_time', method => 'request_method',
        uri => 'ab_uri', ua => 'ab_ua'}->{$k}) or next;
    like($lf, qr/"\Q$k\E":"\$\Q$var\E"/, "log-format.conf: $k is \$$var");
}
like($lf, qr/"uid_source":"\$ab_uid_source"/,
    'log-format.conf: uid_source is $ab_uid_source');
# the node of a fleet, for abstat's per-node figures and audit
like($lf, qr/"node":"\$hostname"/, 'log-format.conf: node is $hostname');

ABNginx::finish();
