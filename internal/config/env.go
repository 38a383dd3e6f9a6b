package config

import (
	"errors"
	"strconv"
	"time"
)

// envField binds one QUEUESYNC_* variable to a string, duration or
// boolean field.
type envField struct {
	key  string // the field as written in the file
	name string
	str  *string
	dur  *time.Duration
	flag *bool
}

// envFields lists the variables ApplyEnv reads, bound to the fields of c.
func (c *Config) envFields() []envField {
	return []envField{
		{key: "node", name: "QUEUESYNC_NODE", str: &c.Node},
		{key: "ami.address", name: "QUEUESYNC_AMI_ADDRESS", str: &c.AMI.Address},
		{key: "ami.username", name: "QUEUESYNC_AMI_USERNAME", str: &c.AMI.Username},
		{key: "ami.secret_file", name: "QUEUESYNC_AMI_SECRET_FILE", str: &c.AMI.SecretFile},
		{key: "ami.user_events", name: "QUEUESYNC_AMI_USER_EVENTS", flag: &c.AMI.UserEvents},
		{key: "database.url", name: "QUEUESYNC_DATABASE_URL", str: &c.Database.URL},
		{key: "database.password_file", name: "QUEUESYNC_DATABASE_PASSWORD_FILE", str: &c.Database.PasswordFile},
		{key: "listen", name: "QUEUESYNC_LISTEN", str: &c.Listen},
		{key: "metrics_listen", name: "QUEUESYNC_METRICS_LISTEN", str: &c.MetricsListen},
		{key: "tls.cert_file", name: "QUEUESYNC_TLS_CERT_FILE", str: &c.TLS.CertFile},
		{key: "tls.key_file", name: "QUEUESYNC_TLS_KEY_FILE", str: &c.TLS.KeyFile},
		{key: "tls.client_ca_file", name: "QUEUESYNC_TLS_CLIENT_CA_FILE", str: &c.TLS.ClientCAFile},
		{key: "log_file", name: "QUEUESYNC_LOG_FILE", str: &c.LogFile},
		{key: "health_interval", name: "QUEUESYNC_HEALTH_INTERVAL", dur: &c.HealthInterval},
		{key: "max_clock_skew", name: "QUEUESYNC_MAX_CLOCK_SKEW", dur: &c.MaxClockSkew},
		{key: "tombstone_ttl", name: "QUEUESYNC_TOMBSTONE_TTL", dur: &c.TombstoneTTL},
		{key: "shutdown_timeout", name: "QUEUESYNC_SHUTDOWN_TIMEOUT", dur: &c.ShutdownTimeout},
		{key: "history_retention", name: "QUEUESYNC_HISTORY_RETENTION", dur: &c.HistoryRetention},
		{key: "web_listen", name: "QUEUESYNC_WEB_LISTEN", str: &c.WebListen},
		{key: "web_password_file", name: "QUEUESYNC_WEB_PASSWORD_FILE", str: &c.WebPasswordFile},
	}
}

// EnvVars returns the names of the variables ApplyEnv reads, in the order
// of the file's fields (for help texts and man pages).
func EnvVars() []string {
	var c Config
	fs := c.envFields()
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.name
	}
	return names
}

// ApplyEnv overrides c's fields with the QUEUESYNC_* variables getenv
// returns non-empty (see EnvVars; peers are configured only in the file).
// Durations are Go duration strings. It returns every problem, joined, as
// *ConfigValidationError naming the variable; fields with good values are
// applied regardless.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	var errs []error
	for _, f := range c.envFields() {
		v := getenv(f.name)
		switch {
		case v == "":
		case f.str != nil:
			*f.str = v
		case f.flag != nil:
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, invalid(f.name, v, ErrBadBool, "write true or false"))
				continue
			}
			*f.flag = b
		default:
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				errs = append(errs, invalid(f.name, v, ErrBadDuration, "write it like 2s, 1m or 720h"))
				continue
			}
			*f.dur = d
		}
	}
	return errors.Join(errs...)
}
