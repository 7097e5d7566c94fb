#!/usr/bin/perl
# conf-examples/qa-force.conf, realip.conf and status.conf as written
# (issue 12, "Smaller"): the QA secret is compared exactly (case and
# length), loopback is no office address, and behind a local TLS
# terminator the force allow-list and the status page judge the visitor's
# address (X-Forwarded-For from a trusted proxy), never the proxy's.
# SECURITY.md "Behind a proxy" points here.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ABNginx qw(http_request reference_assign);

my $t = ABNginx->new->require_module->require_reference;
my $examples = "$ABNginx::REPO/conf-examples";

# the secret as qa-force.conf writes it: the one non-default key of the
# map on the token header
my $qa = $t->read_file("$examples/qa-force.conf");
my ($header, $map) = $qa =~ /map \$http_(\w+) \$ab_qa_token_ok \{(.*?)\}/s
    or BAIL_OUT('qa-force.conf: no map of the token header');
my ($secret) = $map =~ /^\s*"~\^([0-9a-f]+)\$"\s+1;/m
    or BAIL_OUT('qa-force.conf: no anchored secret in the token map');
(my $token_header = $header) =~ s/_/-/g;
cmp_ok(length $secret, '>=', 64, 'the example secret has at least 64 hex digits');
unlike($token_header, qr/^x-ab-/i,
    'the token header is not removed by ab_strip_request_headers');

# status.conf's server on a free port
(my $status = $t->read_file("$examples/status.conf"))
    =~ s/listen\s+127\.0\.0\.1:\d+;/listen 127.0.0.1:%%PORT_1%%;/
    or BAIL_OUT('status.conf: no listen 127.0.0.1 line');
$t->write_file('status.conf', $t->expand($status));

$t->write_config(<<'EOF2', access_log => 0)->start;
ab_experiment e { variant a 50%; variant b 50%; }
include %%REPO%%/conf-examples/realip.conf;
include %%REPO%%/conf-examples/qa-force.conf;
include %%DIR%%/status.conf;
server {
    listen 127.0.0.1:%%PORT%%;
    location / { ab e; return 200 "$ab_e|$ab_forced|$remote_addr"; }
}
EOF2

my $uid = 'qa-example-visitor-0001';
my ($ref) = reference_assign([$uid, 'e', '100%', '50%,50%']);
my $natural = (qw(a b))[$ref->{variant_index}];
my $other = $natural eq 'a' ? 'b' : 'a';

sub visit {
    my ($name, $forced, %o) = @_;
    my @h = ("Cookie: abid=$uid", @{$o{headers} || []});
    my $r = $t->raw(http_request("/p?ab_force=e:$other", @h),
        from => $o{from});
    is($r->{status}, 200, "$name: 200");
    my ($v, $f, $addr) = split /\|/, $r->{body} // '', -1;
    if ($forced) {
        is($v, $other, "$name: the force list applies");
        isnt($f, '', "$name: logged as forced");
    } else {
        is($v, $natural, "$name: the force list is ignored");
        is($f, '', "$name: nothing forced");
    }
    is($addr, $o{addr}, "$name: \$remote_addr is $o{addr}") if $o{addr};
}

my $tok = "$token_header: $secret";
visit('loopback, no token', 0, addr => '127.0.0.1');
visit('the exact secret', 1, headers => [$tok]);
visit('the secret in capitals', 0, headers => ["$token_header: \U$secret"]);
visit('the secret and more', 0, headers => ["$tok" . '0']);
visit('the secret without its last digit', 0,
    headers => ["$token_header: " . substr($secret, 0, -1)]);
visit('a prefix of the secret', 0,
    headers => ["$token_header: " . substr($secret, 0, 8)]);

# a local TLS terminator relays the office and the world
visit('office visitor via the terminator', 1,
    headers => ['X-Forwarded-For: 10.20.3.4'], addr => '10.20.3.4');
visit('outside visitor via the terminator', 0,
    headers => ['X-Forwarded-For: 203.0.113.7'], addr => '203.0.113.7');
visit('a forged office hop behind the real one', 0,
    headers => ['X-Forwarded-For: 10.20.3.4, 203.0.113.7'],
    addr => '203.0.113.7');
# an untrusted peer cannot claim an address
visit('X-Forwarded-For from an untrusted peer', 0, from => '127.0.0.2',
    headers => ['X-Forwarded-For: 10.20.3.4'], addr => '127.0.0.2');

# the status page
sub status {
    my ($name, $want, %o) = @_;
    my $r = $t->raw(http_request('/ab/status', @{$o{headers} || []}),
        port => $t->port(1), from => $o{from});
    is($r->{status}, $want, "status page, $name: $want");
}
status('from loopback', 200);
status('a visitor relayed by the terminator', 403,
    headers => ['X-Forwarded-For: 203.0.113.7']);
status('the monitoring network relayed', 200,
    headers => ['X-Forwarded-For: 10.1.2.3']);
status('an untrusted loopback peer', 403, from => '127.0.0.2');

ABNginx::finish();
