# The Kubernetes manifests (issue 16), offline: rendered with kubectl kustomize, every object checked
# against the Kubernetes API schemas (npm kubernetes-models) and for facematch's probes, resources,
# drain and Secret references (tests/kubernetes/run.sh). About 5 s once npm ci has run.
add_test(NAME kubernetes_manifests
  COMMAND ${PROJECT_SOURCE_DIR}/tests/kubernetes/run.sh $<TARGET_FILE:facematch_cli> ${PROJECT_BINARY_DIR})
set_tests_properties(kubernetes_manifests PROPERTIES LABELS deploy TIMEOUT 300)
