#!/usr/bin/perl
# conf-examples/prometheus-alerts.yml and grafana-dashboard.json (README
# "Monitoring"): the rules pass `promtool check rules` and their unit
# tests (t/data/monitoring/alerts-test.yml: each alert fires on its case,
# not on the cases beside it); every dashboard query is valid PromQL; and
# every ab_* and abstat_* name both files use, and every `metric` label
# value, is one that a real ab_status page and a real abstat report
# produce, so a renamed series cannot leave a silent panel or a dead alert.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp qw(tempdir);
use JSON::PP ();
use ABNginx qw(http_request);

my $repo = $ABNginx::REPO;
my $promtool = `sh -c 'command -v promtool' 2>/dev/null`;
chomp $promtool;
plan skip_all => 'promtool not installed (Debian package prometheus; '
    . 'scripts/install-deps)' if !$promtool;
plan skip_all => 'build/abstat not built (make)' if !-x "$repo/build/abstat";

my $alerts = "$repo/conf-examples/prometheus-alerts.yml";
my $dash_file = "$repo/conf-examples/grafana-dashboard.json";

sub run {
    my $out = `@_ 2>&1`;
    return ($? >> 8, $out);
}

my ($rc, $out) = run($promtool, 'check', 'rules', $alerts);
is($rc, 0, 'promtool check rules: prometheus-alerts.yml') or diag($out);
($rc, $out) = run("cd '$repo/t/data/monitoring' && '$promtool' test rules "
    . 'alerts-test.yml');
is($rc, 0, 'promtool test rules: every alert fires when, and only when, '
    . 'it should') or diag($out);

# The dashboard: every target's query, with Grafana's variables given a
# value, parsed by promtool as recording rules.
my $dash = do {
    open my $fh, '<', $dash_file or die "$dash_file: $!";
    local $/;
    JSON::PP->new->decode(<$fh>);
};
my @exprs;
for my $p (@{$dash->{panels}}) {
    next if $p->{type} eq 'row';
    ok(@{$p->{targets} || []}, "panel '$p->{title}' has queries");
    push @exprs, map { $_->{expr} } @{$p->{targets}};
}
ok(@exprs >= 10, scalar(@exprs) . ' dashboard queries');
my %vars = map { $_->{name} => 1 } @{$dash->{templating}{list}};
ok($vars{experiment} && $vars{datasource},
   'the dashboard has $datasource and $experiment');
my $dir = tempdir(CLEANUP => 1);
{
    my $json = JSON::PP->new->ascii;
    open my $fh, '>', "$dir/dash-rules.yml" or die;
    print $fh "groups:\n  - name: dashboard\n    rules:\n";
    for my $i (0 .. $#exprs) {
        (my $e = $exprs[$i]) =~ s/\$experiment\b/.+/g;
        # a JSON string is a YAML double-quoted scalar
        print $fh "      - record: dashboard:q$i\n        expr: "
            . $json->encode($e) . "\n";
    }
    close $fh;
}
($rc, $out) = run($promtool, 'check', 'rules', "$dir/dash-rules.yml");
is($rc, 0, 'every dashboard query is valid PromQL') or diag($out);

# The names both files use.
my $rules_text = do {
    open my $fh, '<', $alerts or die;
    local $/;
    <$fh>;
};
my @rule_exprs;
while ($rules_text =~ /^\s+expr:\s*(>-\n((?:\s{10,}.*\n)+)|(.*)\n)/mg) {
    push @rule_exprs, defined $2 ? $2 : $3;
}
is(scalar @rule_exprs, 8, 'eight alert expressions read');
my (%names, %metric_labels);
for my $e (@exprs, @rule_exprs) {
    $names{$1}++ while $e =~ /\b((?:abstat|ab)_[a-z0-9_]+)/g;
    while ($e =~ /\bmetric=~?"([^"]+)"/g) {
        $metric_labels{$_}++ for split /\|/, $1;
    }
}

# What the module really serves: a zone, an experiment, a purchase.
my $t = ABNginx->new->require_module;
$t->write_config(<<'EOF')->start;
ab_zone ab_live 1m;
ab_experiment checkout_cta { variant control 50%; variant upsell 50%; }
server {
    listen 127.0.0.1:%%PORT%%;
    location /buy { ab checkout_cta; proxy_pass http://127.0.0.1:%%PORT_1%%; }
    location = /ab/status { ab_status; }
}
server {
    listen 127.0.0.1:%%PORT_1%%;
    access_log off;
    location /buy {
        add_header X-AB-Event "purchase; order=O1; revenue=10" always;
        return 200 "bought";
    }
}
EOF
is($t->get('/buy')->{status}, 200, 'a purchase through the module');
my $page = $t->get('/ab/status?format=prometheus');
is($page->{status}, 200, 'ab_status serves the Prometheus page');
my %have;
$have{$1}++ while $page->{body} =~ /^# TYPE (\S+) /mg;
ok($have{ab_exposures_total}, 'the page has its families')
    or diag($page->{body});

# What abstat really writes, from a log with orders, errors and latency.
my $log = "$dir/ab.log";
open my $fh, '>', $log or die;
my $ts = 1763900000;
for my $i (1 .. 400) {
    $ts += 3;
    my $v = $i % 2 ? 'control' : 'upsell';
    my $status = $i % 37 ? 200 : 502;
    print $fh qq({"time":"$ts.000","uid":"u$i","exposures":"checkout_cta:$v",)
        . qq("status":"$status","request_time":"0.0@{[$i % 9]}"}\n);
    print $fh qq({"time":"$ts.500","uid":"u$i","events":"purchase;order=O$i;)
        . qq(revenue=@{[10 + $i % 13]}"}\n) if $i % 5 == 0;
}
close $fh;
($rc, $out) = run("$repo/build/abstat", 'report', '-q', '--format', 'prom',
    $log);
is($rc, 0, 'abstat --format prom') or diag($out);
$have{$1}++ while $out =~ /^# TYPE (\S+) /mg;
my %have_metric;
$have_metric{$1}++ while $out =~ /\bmetric="([^"]+)"/g;

for my $n (sort keys %names) {
    ok($have{$n}, "$n is a series the module or abstat writes");
}
for my $m (sort keys %metric_labels) {
    ok($have_metric{$m}, "metric=\"$m\" is a metric abstat reports");
}
ok(keys %names >= 15, scalar(keys %names) . ' ab_* and abstat_* names used');

ABNginx::finish();
