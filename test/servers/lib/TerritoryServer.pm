# Helpers shared by the server tests in test/servers (PostgreSQL::Test::Cluster based).
package TerritoryServer;

use strict;
use warnings;
use Exporter 'import';
use File::Basename qw(dirname);
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(fixture_sql run_sql same_results sqlstate_of log_offset crash_lines
  no_crash_since);

# The SQL of test/servers/fixture.sql.
sub fixture_sql
{
	return slurp_file(dirname(__FILE__) . '/../fixture.sql');
}

# Runs SQL; returns (exit code, stdout, stderr).  Errors are reported in verbose form, so that
# stderr carries the SQLSTATE.
sub run_sql
{
	my ($node, $db, $sql) = @_;
	my ($out, $err);
	my $ret = $node->psql(
		$db, "\\set VERBOSITY verbose\n" . $sql,
		stdout => \$out,
		stderr => \$err,
		on_error_stop => 1);
	return ($ret, $out // '', $err // '');
}

# Runs the same SQL on two nodes (or two databases) and compares the output.  The query must
# succeed on both and, unless allow_empty is given, return something.
sub same_results
{
	my ($name, $node_a, $db_a, $node_b, $db_b, $sql, %opts) = @_;
	# report at the caller's line, and under the caller's $TODO
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my ($ra, $oa, $ea) = run_sql($node_a, $db_a, $sql);
	my ($rb, $ob, $eb) = run_sql($node_b, $db_b, $sql);
	my $ok = 1;
	if ($ra != 0 || $ea =~ /ERROR/)
	{
		diag("$name: failed on " . $node_a->name . "/$db_a: $ea");
		$ok = 0;
	}
	if ($rb != 0 || $eb =~ /ERROR/)
	{
		diag("$name: failed on " . $node_b->name . "/$db_b: $eb");
		$ok = 0;
	}
	if ($ok && !$opts{allow_empty} && $oa eq '')
	{
		diag("$name: no rows");
		$ok = 0;
	}
	if ($ok && $oa ne $ob)
	{
		my @la = split /\n/, $oa;
		my @lb = split /\n/, $ob;
		my $shown = 0;
		for my $i (0 .. ($#la > $#lb ? $#la : $#lb))
		{
			my $x = $la[$i] // '<none>';
			my $y = $lb[$i] // '<none>';
			next if $x eq $y;
			diag("$name: line " . ($i + 1) . ":\n  $db_a: $x\n  $db_b: $y");
			last if ++$shown >= 5;
		}
		diag("$name: " . scalar(@la) . " lines against " . scalar(@lb));
		$ok = 0;
	}
	return ok($ok, $name);
}

# The SQLSTATE a statement fails with ('' when it succeeds).
sub sqlstate_of
{
	my ($node, $db, $sql) = @_;
	my ($ret, $out, $err) = run_sql($node, $db, $sql);
	return $1 if $err =~ /^(?:psql:[^\n]*?)?ERROR:\s+([0-9A-Z]{5}):/m;
	return $ret == 0 ? '' : "psql exit $ret: $err";
}

# Where the server log ends now.
sub log_offset
{
	my ($node) = @_;
	return -s $node->logfile // 0;
}

# Lines of the server log (from an offset) that tell of a crash: a backend killed by a signal,
# a PANIC, a server restart.
sub crash_lines
{
	my ($node, $from) = @_;
	my $log = slurp_file($node->logfile, $from // 0);
	return grep {
		/terminated by signal|PANIC:|was terminated by exception|all server processes terminated|database system was interrupted/
	} split /\n/, $log;
}

sub no_crash_since
{
	my ($node, $from, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my @lines = crash_lines($node, $from);
	diag(join("\n", @lines)) if @lines;
	return is(scalar(@lines), 0, $name);
}

1;
