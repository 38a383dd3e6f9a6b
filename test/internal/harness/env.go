//go:build e2e || chaos || bench

package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoTestbed means the testbed's environment is not loaded (or has fewer
// Asterisk instances than asked for).
var ErrNoTestbed = errors.New("the testbed is not up")

// Env is the testbed as its env file describes it (testbed.sh env).
type Env struct {
	AMIUser   string // QS_AMI_USER
	AMISecret string // QS_AMI_SECRET
	AdminDB   string // QUEUESYNC_TEST_DATABASE: a database of the testbed's PostgreSQL
	Script    string // QS_TESTBED: testbed.sh, for rx, restart, persist, pg-restart
	State     string // QS_STATE: the testbed's state directory
	Asterisks []Asterisk
}

// Asterisk is one Asterisk instance of the testbed.
type Asterisk struct {
	AMI string // QS_AST<i>_AMI: its manager's address
	Dir string // QS_AST<i>_DIR: its directory (log/queue_log, run/asterisk.pid)
}

// LoadEnv reads the testbed's environment and checks that it has at least
// nodes Asterisk instances and a PostgreSQL.
func LoadEnv(nodes int) (Env, error) {
	e := Env{AMIUser: os.Getenv("QS_AMI_USER"), AMISecret: os.Getenv("QS_AMI_SECRET"),
		AdminDB: os.Getenv("QUEUESYNC_TEST_DATABASE"), Script: os.Getenv("QS_TESTBED"), State: os.Getenv("QS_STATE")}
	for i := 0; ; i++ {
		addr := os.Getenv(fmt.Sprintf("QS_AST%d_AMI", i))
		if addr == "" {
			break
		}
		e.Asterisks = append(e.Asterisks, Asterisk{AMI: addr, Dir: os.Getenv(fmt.Sprintf("QS_AST%d_DIR", i))})
	}
	switch {
	case e.AdminDB == "":
		return e, fmt.Errorf("%w: QUEUESYNC_TEST_DATABASE is not set", ErrNoTestbed)
	case len(e.Asterisks) < nodes:
		return e, fmt.Errorf("%w: %d Asterisk instances, %d needed", ErrNoTestbed, len(e.Asterisks), nodes)
	}
	return e, nil
}

// DBURL returns the URL of database db on the testbed's PostgreSQL.
func (e Env) DBURL(db string) string {
	u := e.AdminDB
	i := strings.LastIndex(u, "/")
	rest := ""
	if q := strings.Index(u[i:], "?"); q >= 0 {
		rest = u[i+q:]
	}
	return u[:i+1] + db + rest
}

// RecreateDB drops database db (whoever is connected) and creates it empty.
func (e Env) RecreateDB(db string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, e.AdminDB)
	if err != nil {
		return fmt.Errorf("connect to the testbed PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)"); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+db)
	return err
}

// Testbed runs testbed.sh with args (the environment's QS_NAME, QS_STATE and
// QS_BASEPORT select the testbed) and returns its output.
func (e Env) Testbed(args ...string) (string, error) {
	if e.Script == "" {
		return "", fmt.Errorf("%w: QS_TESTBED is not set", ErrNoTestbed)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, e.Script, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("testbed %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// TestQueues are the testbed's own queues (test/testbed/conf/queues.conf.in).
var TestQueues = []string{"support", "sales", "billing"}

// IsTestQueue reports whether q is one of TestQueues, compared as Asterisk
// compares queue names.
func IsTestQueue(q string) bool {
	for _, t := range TestQueues {
		if strings.EqualFold(t, q) {
			return true
		}
	}
	return false
}

// itoa spells a testbed instance number for testbed.sh.
func itoa(i int) string { return strconv.Itoa(i) }
