#!/usr/bin/perl
# The test vectors (t/data/vectors.tsv, from scripts/gen-vectors) through
# nginx: one experiment per configuration, every vector uid sent as the
# cookie, $ab_<experiment> and the logged exposures compared with the
# vectors, and with the reference for every other (uid, configuration) pair.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ABNginx qw(read_vectors reference_assign);

my $t = ABNginx->new->require_module->require_reference;

my @vectors = read_vectors();
ok(@vectors >= 200, scalar(@vectors) . ' vectors');

# the configurations, in file order
my (@configs, %config_of);
for my $v (@vectors) {
    my $key = join "\t", @$v{qw(salt traffic weights)};
    next if $config_of{$key};
    my $i = @configs;
    my $valid_name = $v->{salt} =~ /^[A-Za-z0-9_]{1,64}$/;
    push @configs, $config_of{$key} = {
        index => $i, salt => $v->{salt}, traffic => $v->{traffic},
        weights => [split /,/, $v->{weights}], weights_text => $v->{weights},
        # a salt that can be an experiment name is used as the name,
        # without a salt directive: that checks the default salt
        name => $valid_name ? $v->{salt} : "vec$i",
        default_salt => $valid_name,
    };
}
ok(@configs >= 8, scalar(@configs) . ' configurations');

sub variant_name { "c$_[0]{index}v$_[1]" }

my $http = '';
my $omitted_traffic = 0;
for my $c (@configs) {
    $http .= "ab_experiment $c->{name} {\n";
    $http .= "    salt \"$c->{salt}\";\n" unless $c->{default_salt};
    # 100% is the default: leave it out once
    if ($c->{traffic} eq '100%' && !$omitted_traffic++) {
    } else {
        $http .= "    traffic $c->{traffic};\n";
    }
    my $k = 0;
    $http .= sprintf "    variant %s %s;\n", variant_name($c, $k++), $_
        for @{$c->{weights}};
    $http .= "}\n";
}
my $vars = join '|', map { "\$ab_$_->{name}" } @configs;
my $names = join ' ', map { $_->{name} } @configs;
$http .= <<"EOF";
server {
    listen 127.0.0.1:%%PORT%%;
    location /vars { return 200 "\$ab_uid|\$ab_uid_new|$vars"; }
    location /exposed { ab $names; return 200 "\$ab_uid|\$ab_uid_new|$vars"; }
}
EOF
$t->write_config($http)->start;

# the reference for every uid under every configuration
my @uids = do { my %s; grep { !$s{$_}++ } map { $_->{uid} } @vectors };
my @q;
for my $u (@uids) {
    push @q, [$u, $_->{salt}, $_->{traffic}, $_->{weights_text}] for @configs;
}
my @ref = reference_assign(@q);
my %want;     # uid -> config index -> variant index
for my $r (@ref) {
    my $c = $config_of{join "\t", @$r{qw(salt traffic weights)}};
    $want{$r->{uid}}[$c->{index}] = $r->{variant_index};
}

# the file agrees with the reference (it was not edited by hand)
my $disagree = 0;
for my $v (@vectors) {
    my $c = $config_of{join "\t", @$v{qw(salt traffic weights)}};
    $disagree++ if $want{$v->{uid}}[$c->{index}] != $v->{variant_index};
}
is($disagree, 0, 'vectors.tsv agrees with scripts/gen-vectors');

$t->mark_log;
my @paths = ('/vars', '/exposed');
my @reqs = map { my $u = $_; map { [$_, "Cookie: abid=$u"] } @paths }
    @uids;
my $resp = $t->get_all(\@reqs);
my @log = $t->log_json(new => 1, count => scalar @reqs);
is(scalar @log, scalar @reqs, 'one log line per request');

my (%bad, @diag);
for my $i (0 .. $#reqs) {
    my $uid = $uids[int($i / 2)];
    my $path = $paths[$i % 2];
    my $r = $resp->[$i];
    my ($got_uid, $new, @got) = split /\|/, $r->{body}, -1;
    if ($r->{status} != 200 || $got_uid ne $uid || $new ne '') {
        $bad{"$path: status, uid or uid_new"}++;
        push @diag, "$path $uid: $r->{status} $r->{body}";
        next;
    }
    $bad{"$path: Set-Cookie for a valid cookie"}++
        if ABNginx::header_values($r, 'set-cookie');
    my @exp;
    for my $c (@configs) {
        my $k = $want{$uid}[$c->{index}];
        my $name = $k < 0 ? '' : variant_name($c, $k);
        if (($got[$c->{index}] // '<none>') ne $name) {
            $bad{"$path: variant"}++;
            push @diag, "$path uid=$uid exp=$c->{name}: got "
                . ($got[$c->{index}] // '<none>') . ", want '$name'";
        }
        push @exp, "$c->{name}:$name" if $k >= 0;
    }
    my $l = $log[$i];
    my $want_exp = $path eq '/exposed' ? join(',', @exp) : '';
    if ($l->{uid} ne $uid || $l->{exposures} ne $want_exp) {
        $bad{"$path: logged uid or exposures"}++;
        push @diag, "$path uid=$uid: logged uid=$l->{uid} exposures="
            . "'$l->{exposures}', want '$want_exp'";
    }
}
for my $what ('variant', 'status, uid or uid_new',
    'Set-Cookie for a valid cookie', 'logged uid or exposures')
{
    for my $p (@paths) {
        is($bad{"$p: $what"} || 0, 0, "$p: $what as the reference");
    }
}
diag(join "\n", @diag[0 .. ($#diag > 20 ? 20 : $#diag)]) if @diag;

ABNginx::finish();
