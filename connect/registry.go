package connect

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/freshstream/freshchat-kafka/config"
)

// registryTimeout bounds each request to the schema registry.
const registryTimeout = 30 * time.Second

// Registry is a client of the schema registry r, with its basic auth and
// TLS, whose requests each time out after 30 s; r.URL must be set. Every
// registry client of the process is built here.
func Registry(r config.SchemaRegistry) (*sr.Client, error) {
	hc := &http.Client{Timeout: registryTimeout}
	if tc := r.TLS.ClientConfig(); tc != nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = tc
		hc.Transport = tr
	}
	opts := []sr.ClientOpt{sr.URLs(r.URL.String()), sr.HTTPClient(hc)}
	if r.Username != "" {
		opts = append(opts, sr.BasicAuth(r.Username, r.Password.Reveal()))
	}
	rc, err := sr.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("schema registry client: %w", err)
	}
	return rc, nil
}

// RegistryFailure recognises in err the schema registry refusing the TLS
// handshake or the credentials of r, and says which settings to check; nil
// when err is something else (or nil).
func RegistryFailure(err error, r config.SchemaRegistry) *SecurityError {
	if err == nil {
		return nil
	}
	if se, ok := errors.AsType[*SecurityError](err); ok {
		return se
	}
	re, ok := errors.AsType[*sr.ResponseError](err)
	switch {
	case !ok || re.StatusCode != http.StatusUnauthorized && re.StatusCode != http.StatusForbidden:
		return tlsFailure(err, registryTLSNames)
	case r.Username == "":
		return securityErrorf(err, "the schema registry requires authentication (%d %s: %v): set schema_registry.username (SCHEMA_REGISTRY_USERNAME) "+
			"and schema_registry.password (SCHEMA_REGISTRY_PASSWORD or SCHEMA_REGISTRY_PASSWORD_FILE)", re.StatusCode, http.StatusText(re.StatusCode), re)
	default:
		return securityErrorf(err, "the schema registry refused user %q (%d %s: %v): check schema_registry.username (SCHEMA_REGISTRY_USERNAME), "+
			"the password (SCHEMA_REGISTRY_PASSWORD or SCHEMA_REGISTRY_PASSWORD_FILE) and the user's permissions", r.Username, re.StatusCode, http.StatusText(re.StatusCode), re)
	}
}

// ExplainRegistry is err, or the SecurityError it stands for.
func ExplainRegistry(err error, r config.SchemaRegistry) error {
	if f := RegistryFailure(err, r); f != nil {
		return f
	}
	return err
}
