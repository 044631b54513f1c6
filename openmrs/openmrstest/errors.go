package openmrstest

import (
	"encoding/json"
	"net/http"
)

// apiError is an answer in one of OpenMRS's two error shapes (README §3.7).
type apiError struct {
	status int
	// generic shape (wrapErrorResponse)
	message, code, raw string
	// validation shape (wrapValidationErrorResponse) when valid is true
	valid  bool
	global []string
	fields map[string][][2]string // field → [(code, message)]
	header http.Header
}

func (e *apiError) Error() string { return e.message }

// generic builds the generic shape. reason is the exception's
// @ResponseStatus reason (or the handler's fixed text) and detail the
// exception message; OpenMRS joins them as "reason [detail]".
func generic(status int, code, reason, detail string) *apiError {
	msg := reason
	if detail != "" {
		if msg == "" {
			msg = detail
		} else {
			msg += " [" + detail + "]"
		}
	}
	return &apiError{status: status, message: msg, code: code, raw: detail}
}

// invalid builds the validation shape (HTTP 400 "Invalid Submission").
func invalid(global ...string) *apiError {
	return &apiError{status: http.StatusBadRequest, valid: true, global: global, fields: map[string][][2]string{}}
}

func (e *apiError) body() map[string]any {
	if e.valid {
		ge := make([]map[string]string, 0, len(e.global))
		for _, g := range e.global {
			// core's message source has useCodeAsDefaultMessage=true: code == text.
			ge = append(ge, map[string]string{"code": g, "message": g})
		}
		fe := map[string]any{}
		for f, l := range e.fields {
			var items []map[string]string
			for _, cm := range l {
				items = append(items, map[string]string{"code": cm[0], "message": cm[1]})
			}
			fe[f] = items
		}
		return map[string]any{"error": map[string]any{
			"message":      "Invalid Submission",
			"code":         "webservices.rest.error.invalid.submission",
			"globalErrors": ge,
			"fieldErrors":  fe,
		}}
	}
	var raw any
	if e.raw != "" {
		raw = e.raw
	}
	return map[string]any{"error": map[string]any{
		"message":           e.message,
		"code":              e.code,
		"detail":            "",
		"rawMessage":        raw,
		"translatedMessage": raw,
	}}
}

// Errors OpenMRS answers, with the reason strings of webservices.rest's
// response exceptions.
func errNotFound() *apiError {
	return generic(http.StatusNotFound, "org.openmrs.module.webservices.rest.web.resource.impl.BaseDelegatingResource:0",
		"Object with given uuid doesn't exist", "")
}

func errUnknownResource() *apiError {
	return generic(http.StatusNotFound, "org.openmrs.module.webservices.rest.web.v1_0.controller.UnknownResourceController:0",
		"Resource does not exist. Please check documentation for implemented resources and their paths", "")
}

func errMethod(method string) *apiError {
	return generic(http.StatusMethodNotAllowed, "org.springframework.web.servlet.mvc.method.RequestMappingInfoHandlerMapping:0",
		"", "Request method '"+method+"' not supported")
}

func errConversion(detail string) *apiError {
	return generic(http.StatusBadRequest, "org.openmrs.module.webservices.rest.web.ConversionUtil:0",
		"Unable to convert object into response content", detail)
}

func errBadRequest(detail string) *apiError {
	return generic(http.StatusBadRequest, "org.openmrs.module.webservices.rest.web.RestUtil:0", "", detail)
}

func errUnsupported(detail string) *apiError {
	return generic(http.StatusBadRequest, "org.openmrs.module.webservices.rest.web.resource.impl.BaseDelegatingResource:0",
		"The Resource Does not Support the Requested Operation", detail)
}

func errServer(detail string) *apiError {
	return generic(http.StatusInternalServerError, "org.openmrs.api.APIException:0", "", detail)
}

func errNotModelled(what string) *apiError {
	return generic(http.StatusNotImplemented, "openmrstest:0", "", "openmrstest: "+what+" is not modelled by the fake")
}

// errUnauthenticated is APIAuthenticationException for a caller who is not
// logged in (fixture error-unauthorized.inferred.json).
func errUnauthenticated(privilege string) *apiError {
	raw := "Privileges required: " + privilege
	e := generic(http.StatusUnauthorized, "org.openmrs.api.context.Context:0", "User is not logged in", raw)
	return e
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

func writeErr(w http.ResponseWriter, e *apiError) {
	for k, v := range e.header {
		w.Header()[k] = v
	}
	writeJSON(w, e.status, e.body())
}
