#!/usr/bin/perl
# Live counters and the status endpoint (README "ab_zone", "ab_status"):
# per experiment and variant, exposures, new visitors and events by name
# equal what the access log says was sent (two workers, several
# connections); forced exposures are not counted; the SRM chi-square and
# p-value of new visitors against the configured weights equal an
# independent computation (Pearson's chi-square in Perl, itself checked
# against scipy.stats.chisquare: t/data/srm-reference.tsv); JSON
# and the Prometheus text format (HELP and TYPE before every family,
# well-formed labels); counters survive a reload, an experiment removed
# from the configuration disappears; ab_status without ab_zone fails.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP ();
use ABNginx qw(set_cookies header_values chi2_test);
use ABLog qw(full_log log_ok);
use PromText qw(prom_parse);

my $t = ABNginx->new->require_module;
my $json = JSON::PP->new;

# the Perl chi-square against scipy
{
    my $path = "$ABNginx::REPO/t/data/srm-reference.tsv";
    my @ref = ABNginx::read_vectors($path);
    ok(@ref >= 10, 'srm reference: cases');
    for my $c (@ref) {
        my @obs = split /,/, $c->{observed};
        my @w = split /,/, $c->{weights};
        my $sum = 0;
        $sum += $_ for @w;
        my ($chi2, $df, $p) = chi2_test(\@obs, [map { $_ / $sum } @w]);
        ok(close_to($chi2, $c->{chi2}) && $df == $c->{df}
            && close_to($p, $c->{p_value}),
            "chi2_test agrees with scipy: $c->{observed} vs $c->{weights}")
            or diag("perl $chi2 $df $p, scipy $c->{chi2} $c->{df} "
                . $c->{p_value});
    }
}

# equal within 1e-9 (relative for values above 1); a value below 1e-9
# (a p-value of a sure mismatch) must also agree to 1e-6 relatively
sub close_to {
    my ($x, $y) = @_;
    return 0 unless defined $x && defined $y;
    my $d = abs($x - $y);
    return 0 if $d > 1e-9 * (abs($y) > 1 ? abs($y) : 1);
    return 1 if abs($y) >= 1e-9;
    return $d <= 1e-6 * abs($y);
}

my %EXP = (
    s1 => [[qw(a b)], [50, 50]],
    s2 => [[qw(x y)], [1, 3]],
    s3 => [[qw(p q r)], [20, 30, 50]],
);

sub config {
    my (%o) = @_;
    my $s2 = $o{s2} || 'variant x 1; variant y 3;';
    my $s3 = $o{no_s3} ? ''
        : 'ab_experiment s3 { variant p 20%; variant q 30%; variant r 50%; }';
    my $points = $o{no_s3} ? 's1 s2' : 's1 s2 s3';
    return full_log() . <<"EOF";
ab_zone ab_live 1m;
ab_holdout 10%;

ab_experiment s1 { variant a 50%; variant b 50%; }
ab_experiment s2 { $s2 }
$s3

server {
    listen 127.0.0.1:%%PORT%% reuseport;
    ab_force \$http_x_qa_force;
    ab_force_allow \$http_x_qa;
    ab_exclude \$http_x_bot;

    location /p    { ab $points; return 200 "\$ab_holdout"; }
    location /buy  { ab s1; proxy_pass http://127.0.0.1:%%PORT_1%%; }
    # the names that may take live event slots (issue 12): all 21 of them,
    # so that past 16 names per variant the rest counts as _other
    location = /ab/event { ab_beacon events=add_to_cart,n01,n02,n03,n04,n05,n06,n07,n08,n09,n10,n11,n12,n13,n14,n15,n16,n17,n18,n19,n20; }
    location = /ab/status {
        ab_status;
        allow 127.0.0.1;
        deny all;
    }
}

server {
    listen 127.0.0.1:%%PORT_1%%;
    access_log off;
    location /buy {
        add_header X-AB-Event "purchase; revenue=10, upsell" always;
        return 200 "bought";
    }
}
EOF
}

$t->write_config(config(), access_log => 0, workers => 2)->start;

# spreads requests over several keep-alive connections (both workers)
sub spread {
    my ($reqs, $n) = @_;
    $n ||= 16;
    my @out;
    my @parts = map { [] } 1 .. $n;
    push @{$parts[$_ % $n]}, [$_, $reqs->[$_]] for 0 .. $#$reqs;
    for my $k (0 .. $n - 1) {
        my $res = $t->get_all([map { $_->[1] } @{$parts[$k]}],
            conn => "c$k");
        $out[$parts[$k][$_][0]] = $res->[$_] for 0 .. $#$res;
    }
    return \@out;
}

# before any traffic: every counter at zero
check_status('empty', {}, [qw(s1 s2 s3)]);

my $N = 600;
my $fresh = spread([map { ["/p?fresh=$_"] } 1 .. $N]);
my @ids = map { my ($c) = set_cookies($_);
    $c ? $c->{value} : '' } @$fresh;
is(scalar(grep { length } @ids), $N, "$N fresh visitors got an id");

# like a browser, visitors send back the marker cookie (abid_x) with the
# experiments they were exposed to: their later exposures are not new
my @marker = map { my ($c) = set_cookies($_, 'abid_x');
    $c ? "; abid_x=$c->{value}" : '' } @$fresh;
ok(scalar(grep { length } @marker) > $N / 2,
    'exposed fresh visitors got the marker cookie');
ok(!grep({ /abid_x=(?![0-9a-f]{6}(?:\.[0-9a-f]{6})*$)/ } @marker),
    'marker cookies are lists of 6-hex-digit tags');

my @cookie = map { "Cookie: abid=$ids[$_]$marker[$_]" } 0 .. $#ids;
spread([map { ["/p?again", $cookie[$_]] } 0 .. 299]);
spread([map { ["/ab/event?e=add_to_cart&sku=$_", $cookie[$_]] }
    100 .. 299]);
spread([map { ["/buy?n=$_", $cookie[$_]] } 250 .. 349]);
# forced: s1 pinned, counted nowhere; s2 and s3 still counted
spread([map { ["/p?forced", $cookie[$_], 'X-QA: 1',
    'X-QA-Force: s1:' . ($_ % 2 ? 'a' : 'b')] } 400 .. 449]);

# one visitor sends 20 more event names: past 16 names per variant, the
# rest counts as _other
my ($sender) = grep { $fresh->[$_]{body} eq '' } 0 .. $#$fresh;
$t->get_all([map { [sprintf('/ab/event?e=n%02d', $_),
    $cookie[$sender]] }
    1 .. 20]);

# excluded visitors (bots): never counted
spread([map { ["/p?bot=$_", 'X-Bot: 1'] } 1 .. 30]);

my $n_req = $N + 300 + 200 + 100 + 50 + 20 + 30;

# the expected counters, from the access log only
sub expected_from_log {
    my (@lines) = @_;
    my (%c, %var_of);
    for my $l (@lines) {
        next unless $l->{uid};
        for my $pair (split /,/, $l->{exposures}) {
            my ($e, $v) = split /:/, $pair;
            $c{$e}{$v}{exposures}++;
            # a visitor's first exposure to an experiment is new
            $c{$e}{$v}{new_visitors}++ unless $var_of{$l->{uid}}{$e};
            $var_of{$l->{uid}}{$e} = $v;
        }
    }
    for my $l (@lines) {
        next unless length $l->{events};
        for my $ev (split /,/, $l->{events}) {
            my ($name) = split /;/, $ev;
            # the first 16 names of a variant have their own counter
            for my $e (keys %{$var_of{$l->{uid}} || {}}) {
                my $v = $var_of{$l->{uid}}{$e};
                my $slots = $c{_slots}{"$e:$v"} ||= {};
                if (exists $slots->{$name} || keys %$slots < 16) {
                    $slots->{$name} = 1;
                    $c{$e}{$v}{events}{$name}++;
                } else {
                    $c{$e}{$v}{events_other}++;
                }
            }
        }
    }
    return \%c;
}

sub status_json {
    my $r = $t->get('/ab/status');
    is($r->{status}, 200, 'status: 200');
    like(join(',', header_values($r, 'content-type')), qr{^application/json},
        'status: application/json');
    my $s = eval { $json->decode($r->{body}) };
    ok($s, 'status: valid JSON') or diag($@, $r->{body});
    return $s || {};
}

sub status_prom {
    my $r = $t->get('/ab/status?format=prometheus');
    is($r->{status}, 200, 'prometheus: 200');
    like(join(',', header_values($r, 'content-type')), qr{^text/plain},
        'prometheus: text/plain');
    my ($fam, $err) = prom_parse($r->{body});
    is_deeply($err, [], 'prometheus: well-formed exposition');
    return $fam;
}

# compares the status (JSON and Prometheus) with the expected counters
sub check_status {
    my ($what, $c, $exps) = @_;
    my $s = status_json();
    my @names = map { $_->{name} } @{$s->{experiments} || []};
    is_deeply([sort @names], [sort @$exps], "$what: JSON experiments");
    my $prom = status_prom();
    my %ps;     # family -> "labels" -> value
    for my $f (keys %$prom) {
        for my $smp (@{$prom->{$f}{samples}}) {
            my $l = $smp->[1];
            my $key = join ',', map { "$_=$l->{$_}" } sort keys %$l;
            $ps{$f}{$key} = $smp->[2];
        }
    }
    for my $f (qw(ab_exposures_total ab_new_visitors_total ab_events_total)) {
        is($prom->{$f}{type}, 'counter', "$what: $f is a counter");
    }
    # it counts first exposures, not ids minted (issue 13)
    like($prom->{ab_new_visitors_total}{help}, qr/first exposure/,
         "$what: ab_new_visitors_total says what it counts");
    for my $f (qw(ab_variant_weight ab_srm_chi2 ab_srm_p_value)) {
        is($prom->{$f}{type}, 'gauge', "$what: $f is a gauge");
    }
    # zone-wide families (no experiment label) left out
    my %pexp = map { /experiment=([^,]+)/ ? ($1 => 1) : () }
        map { keys %{$ps{$_} || {}} } keys %ps;
    is_deeply([sort keys %pexp], [sort @$exps],
        "$what: Prometheus experiments");

    for my $x (@{$s->{experiments} || []}) {
        my $e = $x->{name};
        next unless $EXP{$e};
        my ($vars, $w) = @{$EXP{$e}};
        $w = $c->{_weights}{$e} if $c->{_weights}{$e};
        my $wsum = 0;
        $wsum += $_ for @$w;
        my @jv = @{$x->{variants} || []};
        is_deeply([map { $_->{name} } @jv], $vars, "$what: $e: variants");
        my @nv;
        for my $k (0 .. $#$vars) {
            my $v = $vars->[$k];
            my $want = $c->{$e}{$v} || {};
            my $j = $jv[$k] || {};
            my $lab = "experiment=$e,variant=$v";
            is($j->{exposures}, $want->{exposures} // 0,
                "$what: $e:$v exposures (JSON)");
            is($ps{ab_exposures_total}{$lab}, $want->{exposures} // 0,
                "$what: $e:$v exposures (Prometheus)");
            is($j->{new_visitors}, $want->{new_visitors} // 0,
                "$what: $e:$v new visitors (JSON)");
            is($ps{ab_new_visitors_total}{$lab}, $want->{new_visitors} // 0,
                "$what: $e:$v new visitors (Prometheus)");
            is_deeply($j->{events}, $want->{events} || {},
                "$what: $e:$v events by name (JSON)");
            my %pe = map { /event=([^,]+)/ ? ($1 => $ps{ab_events_total}{$_}) : () }
                grep { /^event=[^,]+,\Q$lab\E$/ } keys %{$ps{ab_events_total}};
            is($j->{events_other}, $want->{events_other} // 0,
                "$what: $e:$v events past 16 names (JSON)");
            is_deeply(\%pe, { %{$want->{events} || {}},
                $want->{events_other} ? (_other => $want->{events_other}) : () },
                "$what: $e:$v events by name (Prometheus)");
            ok(close_to($j->{weight}, $w->[$k] / $wsum)
                && close_to($ps{ab_variant_weight}{$lab}, $w->[$k] / $wsum),
                "$what: $e:$v weight");
            push @nv, $want->{new_visitors} // 0;
        }
        my $total = 0;
        $total += $_ for @nv;
        next unless $total;     # no SRM test before the first new visitor
        my ($chi2, $df, $p) = chi2_test(\@nv, [map { $_ / $wsum } @$w]);
        my $srm = $x->{srm} || {};
        ok(close_to($srm->{chi2}, $chi2), "$what: $e: SRM chi2 $chi2 (JSON)")
            or diag("got " . ($srm->{chi2} // 'null'));
        ok(close_to($ps{ab_srm_chi2}{"experiment=$e"}, $chi2),
            "$what: $e: SRM chi2 (Prometheus)");
        is($srm->{df}, $df, "$what: $e: SRM df");
        ok(close_to($srm->{p_value}, $p), "$what: $e: SRM p-value $p (JSON)")
            or diag("got " . ($srm->{p_value} // 'null'));
        ok(close_to($ps{ab_srm_p_value}{"experiment=$e"}, $p),
            "$what: $e: SRM p-value (Prometheus)");
        is($srm->{alert} ? 1 : 0, $p < 0.001 ? 1 : 0,
            "$what: $e: alert when p < 0.001");
    }
    return $s;
}

my @lines = log_ok($t, 'status traffic', count => $n_req + 2);
is(scalar @lines, $n_req + 2, 'one log line per request');
is(scalar(grep { $_->{forced} =~ /^s1:[ab]$/ } @lines), 50,
    'the forced requests are logged as forced');
my $want = expected_from_log(@lines);

# sanity of the expectation itself
my %pids = map { $_->{pid} => 1 } grep { $_->{uri} =~ /^\/p\?fresh/ } @lines;
is(scalar keys %pids, 2, 'both workers counted (16 connections, reuseport)');
my $held = grep { $_->{uri} =~ /^\/p\?fresh/ && $_->{holdout} eq '1' } @lines;
ok($held > 20 && $held < 110, "$held of $N fresh visitors in the holdout");
is(scalar(grep { $_->{uri} =~ /^\/p\?bot/ && $_->{exposures} eq ''
    && $_->{uid} eq '' } @lines), 30, 'the excluded visitors: no id, no exposure');
for my $e (qw(s1 s2 s3)) {
    my $nv = 0;
    $nv += $_->{new_visitors} // 0 for values %{$want->{$e}};
    is($nv, $N - $held, "$e: the log has $N - $held new visitors enrolled");
}
my $ev = 0;
$ev += $_->{events}{add_to_cart} // 0 for values %{$want->{s1}};
my %in_holdout = map { $_->{holdout} eq '1' ? ($_->{uid} => 1) : () } @lines;
my $atc = grep { $_->{events} =~ /^add_to_cart;/ && !$in_holdout{$_->{uid}} }
    @lines;
ok($atc > 150, "$atc add_to_cart events of enrolled visitors");
is($ev, $atc, 'the log attributes each of them to a variant');
my $other = 0;
$other += $_->{events_other} // 0 for values %{$want->{s1}};
ok($other > 0, "the log has $other events past the 16 names of a variant");

my $s_before = check_status('fresh', $want, [qw(s1 s2 s3)]);

# a reload with the same configuration: the counters carry on
ok($t->reload(config(), access_log => 0, workers => 2), 'reload');
check_status('after reload', $want, [qw(s1 s2 s3)]);

# more traffic after the reload adds up
my $more = spread([map { ["/p?more=$_"] } 1 .. 40]);
@lines = log_ok($t, 'after reload', count => $n_req + 2 + 4 + 40);
my @traffic = grep { $_->{uri} !~ m{^/ab/status} } @lines;
$want = expected_from_log(@traffic);
check_status('traffic after reload', $want, [qw(s1 s2 s3)]);

# s3 removed, s2 reweighted: s3 disappears, s2 keeps its counters and is
# tested against its new weights (a sure mismatch)
ok($t->reload(config(no_s3 => 1, s2 => 'variant x 3; variant y 1;'),
    access_log => 0, workers => 2), 'reload without s3, s2 reweighted');
$want->{_weights}{s2} = [3, 1];
my $s = check_status('s3 removed', $want, [qw(s1 s2)]);
my ($s2) = grep { $_->{name} eq 's2' } @{$s->{experiments} || []};
ok($s2 && $s2->{srm}{alert}, 's2 reweighted 3:1: SRM alert');

# ab_status needs ab_zone before it
my $t2 = ABNginx->new->expect_emerg;
$t2->write_config(<<'EOF');
ab_experiment s1 { variant a 50%; variant b 50%; }
server {
    listen 127.0.0.1:%%PORT%%;
    location = /ab/status { ab_status; }
}
EOF
my ($out, $rc) = $t2->test_config;
isnt($rc, 0, 'ab_status without ab_zone: nginx -t fails');
my @cl = split /\n/, $t2->read_file('nginx.conf');
my ($line) = grep { $cl[$_ - 1] =~ /ab_status;/ } 1 .. @cl;
my $conf = $t2->conf_path;
like($out, qr/\[emerg\] (?:\d+#\d+: )?"ab_status" requires "ab_zone" in the http block before it in \Q$conf\E:$line\b/,
    'ab_status without ab_zone: the message and line');

ABNginx::finish();
