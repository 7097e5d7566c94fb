package ABLog;

# The access log with every field of docs/log-format.md (ABNginx's default
# format has the core ones only), its strict decoding, and the error log
# since a mark; on top of t/lib/ABNginx.pm.
#
#   use ABLog qw(full_log by_uri log_ok);
#   $t->write_config(full_log() . <<'EOF', access_log => 0)->start;

use strict;
use warnings;

use Exporter qw(import);
use Test::More;
use ABNginx;

our @EXPORT_OK = qw(full_log $FULL_LOG_FORMAT by_uri log_ok
    error_mark error_since);

# Events, QA force and holdout fields next to the core ones.
our $FULL_LOG_FORMAT = q!log_format ab_full escape=json '{"time":"$msec",!
    . q!"uid":"$ab_uid","uid_new":"$ab_uid_new","exposures":"$ab_exposures",!
    . q!"forced":"$ab_forced","events":"$ab_events",!
    . q!"events_invalid":"$ab_events_invalid","holdout":"$ab_holdout",!
    . q!"status":"$status","method":"$request_method","uri":"$request_uri",!
    . q!"pid":"$pid",!
    . q!"ua":"$http_user_agent"}';!;

# http-level text: the format and the access log of every server that does
# not say otherwise (use with access_log => 0).
sub full_log {
    return "$FULL_LOG_FORMAT\naccess_log %%DIR%%/access.log ab_full;\n";
}

# Decodes the whole access log, strictly (one test); returns the lines.
sub log_ok {
    my ($t, $what, %o) = @_;
    $t->wait_log($o{count}) if $o{count};
    my @l = eval { $t->log_json };
    ok(!$@, "access log is valid JSON ($what)") or diag($@);
    return @l;
}

# Log lines indexed by uri (the last line of each uri wins).
sub by_uri {
    my (@lines) = @_;
    return map { $_->{uri} => $_ } @lines;
}

# Remembers the end of error.log; error_since returns what came after.
my %error_mark;

sub error_mark {
    my ($t) = @_;
    $error_mark{$t->dir} = (-s $t->dir . '/error.log') || 0;
    return $t;
}

sub error_since {
    my ($t) = @_;
    my $c = $t->read_file('error.log') // '';
    return substr($c, $error_mark{$t->dir} || 0);
}

1;
