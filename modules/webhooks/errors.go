package webhooks

import (
	"net/http"

	"github.com/dataflow/dataflow/platform/httpserver"
)

// API errors of the webhook endpoints, each with a stable code.
var (
	errInvalidBody = httpserver.NewError(http.StatusBadRequest, "invalid_body",
		"The request body must be a JSON object such as {\"url\": \"https://crm.example.com/hooks\", \"events\": [\"batch.completed\"]}; see \"problem\".",
		"O corpo da requisição deve ser um objeto JSON como {\"url\": \"https://crm.example.com/hooks\", \"events\": [\"batch.completed\"]}; veja \"problem\".")
	errInvalidURL = httpserver.NewError(http.StatusBadRequest, "invalid_webhook_url",
		"The field \"url\" cannot receive webhooks:",
		"O campo \"url\" não pode receber webhooks:")
	errInvalidEvent = httpserver.NewError(http.StatusBadRequest, "invalid_event_type",
		"The field \"events\" names an unknown event type; see \"event\". Use some of those in \"allowed\", or leave \"events\" out to receive all of them.",
		"O campo \"events\" indica um tipo de evento desconhecido; veja \"event\". Use alguns dos tipos em \"allowed\" ou omita \"events\" para receber todos.")
	errDuplicateURL = httpserver.NewError(http.StatusConflict, "duplicate_webhook_url",
		"Your client already has a subscription for this URL. Delete it first to get a new secret, or use it as it is.",
		"O seu cliente já tem uma assinatura para esta URL. Exclua-a antes para obter um novo segredo ou use a existente.")
	errTooManySubscriptions = httpserver.NewError(http.StatusConflict, "too_many_webhooks",
		"Your client has reached the limit of webhook subscriptions; see \"maxSubscriptions\". Delete one you no longer use.",
		"O seu cliente atingiu o limite de assinaturas de webhook; veja \"maxSubscriptions\". Exclua uma que não use mais.")
	errSubscriptionNotFound = httpserver.NewError(http.StatusNotFound, "webhook_not_found",
		"No webhook subscription with this id exists for your client.",
		"Não existe assinatura de webhook com este id para o seu cliente.")
	errDeliveryNotFound = httpserver.NewError(http.StatusNotFound, "delivery_not_found",
		"No delivery with this id exists for this webhook subscription.",
		"Não existe entrega com este id para esta assinatura de webhook.")
	errSubscriptionDisabled = httpserver.NewError(http.StatusConflict, "webhook_disabled",
		"The subscription is disabled, so nothing can be delivered to it; see \"disabledReason\". Fix the endpoint, delete the subscription and create it again.",
		"A assinatura está desativada, então nada pode ser entregue a ela; veja \"disabledReason\". Corrija o endpoint, exclua a assinatura e crie-a novamente.")
	errRedeliveryPending = httpserver.NewError(http.StatusConflict, "redelivery_pending",
		"This event already waits for a delivery to this subscription. Follow that delivery in the log instead of queueing another.",
		"Este evento já aguarda uma entrega para esta assinatura. Acompanhe essa entrega no histórico em vez de enfileirar outra.")
	errInvalidLimit = httpserver.NewError(http.StatusBadRequest, "invalid_limit",
		"The query parameter \"limit\" must be a whole number from 1 to the value of \"maxLimit\"; see \"limit\".",
		"O parâmetro \"limit\" deve ser um número inteiro de 1 até o valor de \"maxLimit\"; veja \"limit\".")
	errInvalidCursor = httpserver.NewError(http.StatusBadRequest, "invalid_cursor",
		"The query parameter \"cursor\" is not one this API returned. Pass the \"nextCursor\" of the previous page unchanged, or leave it out to start from the newest delivery.",
		"O parâmetro \"cursor\" não foi gerado por esta API. Envie o \"nextCursor\" da página anterior sem alterações ou omita-o para começar da entrega mais recente.")
	errInvalidStatus = httpserver.NewError(http.StatusBadRequest, "invalid_status",
		"The query parameter \"status\" must be Pending, Delivered, Failed or Cancelled, or several of them separated by commas; see \"status\".",
		"O parâmetro \"status\" deve ser Pending, Delivered, Failed ou Cancelled, ou vários deles separados por vírgula; veja \"status\".")
)
