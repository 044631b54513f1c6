package openmrs

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/idcards/idcards"
)

// Sentinel errors. Test with errors.Is.
var (
	// ErrUnauthenticated means OpenMRS ran the request without a logged-in
	// user. OpenMRS does not answer wrong Basic credentials with 401 by
	// itself: its AuthorizationFilter swallows the failed
	// Context.authenticate and lets the request continue unauthenticated
	// (openmrs-module-webservices.rest
	// omod-common/src/main/java/org/openmrs/module/webservices/rest/web/filter/AuthorizationFilter.java,
	// "This filter never stops execution"). So GET /session answers 200
	// {"authenticated":false} and protected resources answer 401. Both
	// surface as this error (an *APIError with Status 401 matches it too).
	ErrUnauthenticated = errors.New("openmrs: not logged in: wrong credentials")

	// ErrCircuitOpen means the client stopped calling a server that kept
	// failing; it will try again after the breaker's cool-down.
	ErrCircuitOpen = errors.New("openmrs: server unreachable, not retrying until the cool-down ends")

	// ErrNotREST means a success answer was not JSON (typically an HTML
	// page): the URL does not point at OpenMRS's REST API.
	ErrNotREST = errors.New("the URL does not look like OpenMRS's REST API")
)

// MessageError is one entry of OpenMRS's globalErrors / fieldErrors lists.
// For identifier problems Code equals Message: core's validator rejects
// with the translated text and the message source uses the code as the
// default message.
type MessageError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// APIError is an error response from OpenMRS. It carries both shapes the
// REST module produces (openmrs-module-webservices.rest
// omod-common/.../web/RestUtil.java):
//
//   - wrapValidationErrorResponse (HTTP 400, ValidationException):
//     {"error":{"message":"Invalid Submission","code":"webservices.rest.error.invalid.submission",
//     "globalErrors":[{code,message}],"fieldErrors":{field:[{code,message}]}}}
//   - wrapErrorResponse (everything else):
//     {"error":{"message":"<reason> [<exception message>]","code":"<Class>:<line>",
//     "detail":"<stack trace or empty>","rawMessage":...,"translatedMessage":...}}
//
// A body that is not OpenMRS JSON (a proxy's or Tomcat's HTML 404 page)
// leaves the fields empty and Body holds its first bytes.
type APIError struct {
	Status            int
	Method            string
	Path              string // request path, without query or credentials
	Message           string
	Code              string
	Detail            string
	RawMessage        string
	TranslatedMessage string
	GlobalErrors      []MessageError
	FieldErrors       map[string][]MessageError
	Body              string // first bytes of a non-JSON body, for logs
}

// errorEnvelope is the wire DTO of both error shapes.
type errorEnvelope struct {
	Error *struct {
		Message           string                    `json:"message"`
		Code              string                    `json:"code"`
		Detail            string                    `json:"detail"`
		RawMessage        string                    `json:"rawMessage"`
		TranslatedMessage string                    `json:"translatedMessage"`
		GlobalErrors      []MessageError            `json:"globalErrors"`
		FieldErrors       map[string][]MessageError `json:"fieldErrors"`
	} `json:"error"`
}

// maxErrorSnippet bounds how much of a non-JSON body an APIError keeps.
const maxErrorSnippet = 512

// ParseErrorBody builds an *APIError from an HTTP status and response
// body. It never fails: unknown or malformed bodies give an APIError with
// only Status and Body set.
func ParseErrorBody(status int, body []byte) *APIError {
	e := &APIError{Status: status}
	var env errorEnvelope
	if err := json.Unmarshal(body, &env); err == nil && env.Error != nil {
		e.Message = env.Error.Message
		e.Code = env.Error.Code
		e.Detail = env.Error.Detail
		e.RawMessage = env.Error.RawMessage
		e.TranslatedMessage = env.Error.TranslatedMessage
		e.GlobalErrors = env.Error.GlobalErrors
		e.FieldErrors = env.Error.FieldErrors
		return e
	}
	// A proxy's HTML page or garbage: keep a short, printable snippet.
	e.Body = cutUTF8(strings.ToValidUTF8(strings.TrimSpace(string(body)), "\uFFFD"), maxErrorSnippet)
	return e
}

// Messages returns OpenMRS's own texts: every global error, then every
// field error as "field: message", and the top-level message when there
// is nothing more specific.
func (e *APIError) Messages() []string {
	var out []string
	for _, g := range e.GlobalErrors {
		if m := firstNonEmpty(g.Message, g.Code); m != "" {
			out = append(out, m)
		}
	}
	for _, field := range sortedKeys(e.FieldErrors) {
		for _, f := range e.FieldErrors[field] {
			if m := firstNonEmpty(f.Message, f.Code); m != "" {
				out = append(out, field+": "+m)
			}
		}
	}
	if len(out) == 0 {
		if m := firstNonEmpty(e.Message, e.TranslatedMessage, e.RawMessage); m != "" {
			out = append(out, m)
		}
	}
	return out
}

// Error explains the failure in words a desk supervisor can act on; the
// OpenMRS text follows in parentheses or, for validation errors, is the
// message itself.
func (e *APIError) Error() string {
	var hint string
	switch {
	case e.Status == 401 || e.Status == 403:
		hint = "wrong credentials or missing privilege"
	case e.Status == 404:
		hint = "wrong base URL or the module is not installed"
	case e.Status == 400 && len(e.GlobalErrors)+len(e.FieldErrors) > 0:
		hint = "rejected by OpenMRS"
	case e.Status >= 500:
		hint = "OpenMRS server error"
	default:
		hint = "unexpected response"
	}
	msg := strings.Join(e.Messages(), "; ")
	if msg == "" && e.Body != "" {
		msg = truncate(e.Body, 120)
	}
	s := fmt.Sprintf("openmrs: %s %s: HTTP %d: %s", e.Method, e.Path, e.Status, hint)
	if msg != "" {
		s += ": " + msg
	}
	return s
}

// Is makes a 401 answer match ErrUnauthenticated.
func (e *APIError) Is(target error) bool {
	return target == ErrUnauthenticated && e.Status == 401
}

// Reason is why OpenMRS refused a request, as far as the client can tell.
type Reason int

const (
	ReasonNone                    Reason = iota // err is nil
	ReasonUnknown                               // an error the client cannot classify
	ReasonDuplicateIdentifier                   // identifier already in use by another patient
	ReasonIdentifierOnSamePatient               // identifier already in use by this patient
	ReasonInvalidCheckDigit                     // the type's validator rejected the check character
	ReasonUnallowedIdentifier                   // characters/shape not allowed by the type's validator
	ReasonInvalidFormat                         // identifier does not match the type's format regex
	ReasonLocationRequired                      // identifier location missing for a type that needs one
	ReasonValidation                            // other HTTP 400 validation failure (e.g. gender missing)
	ReasonBadRequest                            // other 4xx: a bug in the request
	ReasonUnauthorized                          // not logged in (wrong credentials) — 401 or authenticated:false
	ReasonForbidden                             // logged in but lacks a privilege — 403
	ReasonNotFound                              // 404: wrong base URL, module missing, or no such uuid
	ReasonServerError                           // 5xx
	ReasonUnavailable                           // network failure, server down, or circuit open
	ReasonTimeout                               // no answer (timed out, or the connection dropped after sending): the outcome of a POST is unknown
)

var reasonNames = [...]string{
	ReasonNone:                    "none",
	ReasonUnknown:                 "unknown",
	ReasonDuplicateIdentifier:     "duplicate identifier",
	ReasonIdentifierOnSamePatient: "identifier already on this patient",
	ReasonInvalidCheckDigit:       "invalid check digit",
	ReasonUnallowedIdentifier:     "identifier not allowed by validator",
	ReasonInvalidFormat:           "identifier format",
	ReasonLocationRequired:        "identifier location required",
	ReasonValidation:              "validation",
	ReasonBadRequest:              "bad request",
	ReasonUnauthorized:            "unauthorized",
	ReasonForbidden:               "forbidden",
	ReasonNotFound:                "not found",
	ReasonServerError:             "server error",
	ReasonUnavailable:             "unavailable",
	ReasonTimeout:                 "timeout",
}

func (r Reason) String() string {
	if r >= 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// Kind maps a Reason onto the project's error vocabulary.
func (r Reason) Kind() idcards.Kind {
	switch r {
	case ReasonDuplicateIdentifier, ReasonIdentifierOnSamePatient:
		return idcards.Conflict
	case ReasonInvalidCheckDigit, ReasonUnallowedIdentifier, ReasonInvalidFormat,
		ReasonLocationRequired, ReasonValidation, ReasonBadRequest:
		return idcards.Invalid
	case ReasonUnauthorized, ReasonForbidden:
		return idcards.Forbidden
	case ReasonNotFound:
		return idcards.NotFound
	case ReasonServerError, ReasonUnavailable, ReasonTimeout:
		return idcards.Unavailable
	case ReasonNone:
		return idcards.Other
	}
	return idcards.Internal
}

// Retryable reports whether the same request may succeed later without
// any change (server or network trouble).
func (r Reason) Retryable() bool {
	return r == ReasonServerError || r == ReasonUnavailable || r == ReasonTimeout
}

// Identifier validation messages, from openmrs-core
// api/src/main/resources/messages.properties
// (@0288ada2c9e39214a14f8035c8d45c9048de7658, read with the search tools):
//
//	PatientIdentifier.error.notUniqueWithParameter=Identifier {0} already in use by another patient
//	PatientIdentifier.error.notUniqueSamePatientWithParameter=Identifier {0} already in use by this patient
//	PatientIdentifier.error.checkDigitWithParameter=Invalid check digit for identifier: {0}
//	PatientIdentifier.error.unallowedIdentifier=Identifier {0} is not appropriate for validation scheme {1}
//	PatientIdentifier.error.invalidFormat=Identifier \"{0}\" does not match : \"{1}\"
//	PatientIdentifier.location.null=Identifier Location cannot be null for {0}
//
// They are thrown by core's PatientIdentifierValidator (validateIdentifier /
// checkIdentifierAgainstValidator) and reach REST clients as global errors
// of a 400 "Invalid Submission". There is no per-cause machine code, so the
// text is all we have; patterns are unanchored because other front ends
// wrap them ("'Patient#null' failed to validate with reason: ...", seen in
// a deployment log with a trailing "."). They are English: give the API
// user an English locale or classification falls back to ReasonValidation.
var messagePatterns = []struct {
	re     *regexp.Regexp
	reason Reason
}{
	{regexp.MustCompile(`Identifier \S.* already in use by another patient`), ReasonDuplicateIdentifier},
	{regexp.MustCompile(`Identifier \S.* already in use by this patient`), ReasonIdentifierOnSamePatient},
	{regexp.MustCompile(`Invalid check digit for identifier: `), ReasonInvalidCheckDigit},
	{regexp.MustCompile(`Identifier \S.* is not appropriate for validation scheme `), ReasonUnallowedIdentifier},
	{regexp.MustCompile(`Identifier ".*" does not match : "`), ReasonInvalidFormat},
	{regexp.MustCompile(`Identifier Location cannot be null for `), ReasonLocationRequired},
}

// ClassifyMessage classifies one OpenMRS validation message.
func ClassifyMessage(msg string) Reason {
	for _, p := range messagePatterns {
		if p.re.MatchString(msg) {
			return p.reason
		}
	}
	return ReasonUnknown
}

// Classify tells apart the ways a request can fail. For HTTP 400 bodies
// it reads OpenMRS's message texts (see messagePatterns); when several
// identifiers fail, the first recognised message wins.
func Classify(err error) Reason {
	if err == nil {
		return ReasonNone
	}
	if errors.Is(err, ErrCircuitOpen) {
		return ReasonUnavailable
	}
	if errors.Is(err, ErrNotREST) {
		return ReasonNotFound // like a 404: no other request will work either
	}
	var ae *APIError
	if errors.As(err, &ae) {
		switch {
		case ae.Status == 401:
			return ReasonUnauthorized
		case ae.Status == 403:
			return ReasonForbidden
		case ae.Status == 404:
			return ReasonNotFound
		case ae.Status >= 500:
			return ReasonServerError
		case ae.Status == 400:
			for _, m := range ae.Messages() {
				if r := ClassifyMessage(m); r != ReasonUnknown {
					return r
				}
			}
			if len(ae.GlobalErrors)+len(ae.FieldErrors) > 0 || ae.Code == validationCode {
				return ReasonValidation
			}
			return ReasonBadRequest
		case ae.Status >= 400:
			return ReasonBadRequest
		}
		return ReasonUnknown
	}
	if errors.Is(err, ErrUnauthenticated) {
		return ReasonUnauthorized
	}
	var te *TransportError
	if errors.As(err, &te) {
		if te.Timeout || te.Dropped {
			return ReasonTimeout
		}
		return ReasonUnavailable
	}
	return ReasonUnknown
}

// validationCode is the code of every wrapValidationErrorResponse body.
const validationCode = "webservices.rest.error.invalid.submission"

// TransportError is a request that got no HTTP answer: connection
// refused or reset, DNS failure, or a timeout. For a POST with Timeout or
// Dropped set the server may have committed the change: look before
// re-posting.
type TransportError struct {
	Method  string
	Path    string
	Timeout bool // no answer within the per-request timeout
	// Dropped: the connection was made and then lost before an answer
	// (reset, EOF). Unlike a refused dial, the request may have arrived.
	Dropped bool
	Err     error
}

func (e *TransportError) Error() string {
	what := "server unreachable"
	switch {
	case e.Timeout:
		what = "no answer in time"
	case e.Dropped:
		what = "connection lost before the answer"
	}
	return fmt.Sprintf("openmrs: %s %s: %s: %v", e.Method, e.Path, what, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

// truncate shortens s to at most n bytes, on a character boundary, and
// marks the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return cutUTF8(s, n) + "…"
}

// cutUTF8 is s's first n bytes or fewer, never ending inside a character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
